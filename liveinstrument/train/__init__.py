"""Training loops: classifier (soft labels), progressive GAN, encoder."""
