"""The staffing planner's tabs, one module each; ``views/staffing_planner.py`` lays them out."""
