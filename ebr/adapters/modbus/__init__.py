"""Modbus TCP: the DeviceReader on pymodbus, and a simulated plant (a real pymodbus server) for the demo and tests."""
