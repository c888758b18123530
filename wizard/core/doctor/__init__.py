"""The doctor: what is wrong with an existing PyTorch environment on this machine, and the one fix.

``runner.run_doctor`` runs ``doctor_script.py`` in the target interpreter, ``diagnose.diagnose``
compares its facts with the machine and the knowledge base, ``model`` holds the findings.
"""
