"""Camera sources: opening URIs, sampling frames, reconnecting."""
