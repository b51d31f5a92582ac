"""Each page's state in the session, one small module per page: the keys it keeps, their defaults, the
values the address bar sets, and the callbacks that change them. A page and its ``*_ui`` functions read and
write session state only through its module here, so a page's state is written down in one place.

A key's name is the widget's key where a widget holds the value (tests and links address widgets by it).
"""
