"""An Azure Resource Manager (ARM) REST emulator: in-memory models per provider (network,
compute, storage, cdn, insights) apart from the WSGI layer (`app.py`); see README.md."""
