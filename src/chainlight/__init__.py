"""Chainlight: pool, resolve, connect, flag and map risk in global supply chains."""

__version__ = "0.1.0"

from chainlight.model.ftm_path import activate as _activate_model

# FtM reads FTM_MODEL_PATH once, when it is first imported: set it before anything can.
_activate_model()
