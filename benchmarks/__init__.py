"""Side-by-side benchmarks of framemend's passes against ffmpeg's filters (see run.py)."""
