"""Rasa's own server, run with the project's fixes applied (`python -m rasa_server run ...`)."""
