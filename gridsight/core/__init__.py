"""The engine: camera sources to hazard events. It knows no synthetic world, no
simulator, no work-order service and no plugin (import-linter checks this in
``make lint``).

Rooms:

- ``errors``, ``events`` (the alert format: HazardEvent, JSONL read/write), ``hookspecs``
  (the plugin API's hooks), ``plugins`` (building the plugin manager), ``dispatch``
  (work-order dispatch policies shared by the live service and the simulator);
- ``config/`` — township, camera, zone and hazard config models and their YAML loader;
- ``sources/`` — camera sources (files, RTSP, plugin schemes), reader threads, queues;
- ``backends/`` — inference runtimes (onnxruntime, opencv, tensorrt) behind one base;
- ``detection/`` — Detections, geometry, roles, letterbox, decode, NMS, the Detector;
- ``tracking/`` — the Tracker protocol and ByteTrack;
- ``hazards/`` — the rule API, zones, the event lifecycle, the per-camera rule runner;
- ``sinks/`` — event sinks (JSONL, SQLite) and evidence snapshots;
- ``engine/`` — the loop: per-camera pipelines, batcher, inference worker, status, metrics.
"""
