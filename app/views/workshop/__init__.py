"""The fraud-drift workshop's story: what its steps share, and the steps; ``views/fraud_workshop.py`` runs it."""
