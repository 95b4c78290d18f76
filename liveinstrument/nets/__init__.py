"""Neural networks, one readable file each: generator, discriminator, encoder, classifier."""
