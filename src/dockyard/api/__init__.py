"""Protocol adapters over the service layer."""
