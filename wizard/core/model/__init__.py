"""The plain data that flows through the pipeline: the machine as detected, the plan."""
