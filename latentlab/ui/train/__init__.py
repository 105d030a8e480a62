"""The Train tab: the run's settings (`form.TrainingForm`) and the run itself, with progress, curves and
previews (`panel.TrainingPanel`)."""
