"""The class in the lecture: students' phones join the lecturer's room and answer its activities.

Holds: room (the process's store, the lecturer's room, the scene's activity, model names), join (the
student page's address and its QR code, the Join dialog), lecturer (the controls in the presenter's bar
and the speaker view), projector (what the projected window shows of the class: the strip, the poll's
bars, the grid of points, a picked drawing), layer (the class's points on the latent map), student (the
phone's page), answers (a poll's answer computed from the model). Built on services.room.
"""
