"""The coverage domain: rules data, engine and replies. Pure Python, no Rasa imports."""
