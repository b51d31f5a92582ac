"""Speaker view: the lecturer's notes, the current and next scene, the time, and the step controls."""
from ui.speaker import speaker_view

speaker_view()
