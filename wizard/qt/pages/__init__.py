"""One QWizardPage per module, in the order the wizard shows them."""
