"""Text normalisation, election profiles, classifiers and the artifact format."""
