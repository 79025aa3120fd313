"""The engine: config, township, plugins, sources, inference, tracking, zones, hazards, sinks."""
