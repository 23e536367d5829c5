"""Master data pages: materials, lots and containers copied from the ERP."""
