"""The engine: config, township model, plugins, sources, inference, tracking, zones, hazards, sinks."""
