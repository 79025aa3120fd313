"""One router per resource: health, cameras, events, work orders, workers, plugins,
township, auth, Open311 and the pages."""
