"""framemend as a ComfyUI node pack: copy (or link) this folder into ``ComfyUI/custom_nodes/``
with framemend installed in ComfyUI's Python, restart, and the nodes appear under
``video/framemend``. See :mod:`.nodes`."""
from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
