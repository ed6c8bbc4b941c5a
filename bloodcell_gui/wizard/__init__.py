"""The "Train model" wizard: data, augmentation preview, settings, training, evaluation, save."""
