"""Image kernels shared by the passes, each with its CPU (numpy/OpenCV/numba) and torch path
side by side: :mod:`.colour` (BT.601 luma), :mod:`.blur` (Gaussian blur, box mean),
:mod:`.sample` (bilinear sampling inside numba loops), :mod:`.pools` (worker thread pools),
:mod:`.buffers` (whole-frame arrays from a pool), :mod:`.median` (torch's lower median on numpy
arrays), :mod:`.fastmath` (numba fast-math flags whose results do not depend on the code path
a loop takes). A pass that needs one of these imports it from here rather than writing its own."""
