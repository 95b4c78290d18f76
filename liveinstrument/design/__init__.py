"""Designing sounds and kits from the model: searches scored by the classifier and measured targets."""
