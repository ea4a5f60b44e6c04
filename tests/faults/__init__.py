"""Fault injection for the sandbox's clouds: a loopback proxy in front of moto (`proxy`)."""
