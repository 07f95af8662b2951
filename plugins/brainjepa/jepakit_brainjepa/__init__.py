"""Brain-JEPA for jepakit: fMRI ROI x time-patch tokens with brain-gradient positions (arXiv 2409.19407)."""
