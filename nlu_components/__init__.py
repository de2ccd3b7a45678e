"""Custom Rasa NLU components of the member FAQ assistant."""
