"""Training, ONNX export and COCO evaluation of the bundled detector.

PyTorch is imported only here (the ``train`` extra); the engine never imports this
package. Modules: :mod:`.model` (the network), :mod:`.loss` (assignment and losses),
:mod:`.data` (YOLO datasets in memory, augmentation), :mod:`.trainer` (the loop),
:mod:`.export` (ONNX, metadata, FLOP count), :mod:`.evaluate` (onnxruntime + pycocotools).
"""
