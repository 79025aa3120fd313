"""Detection: frames in, role-labelled boxes out.

``Detections`` (the struct of arrays every later stage reads), box geometry (the one box
IoU), roles (model classes mapped onto what the rules reason about), letterboxing,
decoding of YOLO-layout outputs, NMS, the ``Detector`` that ties them to a backend, and
``DetectorSpec`` (how a plugin describes a model).
"""
