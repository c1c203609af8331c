"""The Monitoring tuner's tabs, one module each; ``views/monitoring_tuner.py`` lays them out."""
