"""Exporting models to other formats. ``model.export(path, format="onnx")`` writes an
ONNX graph (needs the optional ``onnx`` package: ``pip install onnx``, or the ``onnx`` extra)."""
