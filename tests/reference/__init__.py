"""NumPy float64 reference implementations of every op, one module per area.

Each test compares the C++ result with these. They are written from the Keras
formulas of Keras 3's documentation and source, never from ranvier's own code.
"""
