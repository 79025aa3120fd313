"""The built-in plugins, registered through the ``gridsight`` entry-point group."""
