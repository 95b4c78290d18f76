"""Real-time engine: pad state, renderer process, ring of rendered hits, voice mixer, audio out."""
