"""Inference backends: onnxruntime (CPU), opencv (cv2.dnn), tensorrt (GPU)."""
