"""Image kernels shared by the passes, each with its CPU (numpy/OpenCV) and torch path side by
side: :mod:`.colour` (BT.601 luma), :mod:`.blur` (Gaussian blur). A pass that needs one of
these imports it from here rather than writing its own."""
