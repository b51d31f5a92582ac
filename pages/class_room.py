"""The class's page on a phone (/class?room=CODE): join, follow the scene, draw, place a point, vote."""
from ui.classroom.student import student_page

student_page()
