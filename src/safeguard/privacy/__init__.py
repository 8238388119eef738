"""The privacy app: the organisation-wide data inventory (R-DATA-1), the Records Retention Matrix
and its sweep with legal holds (R-DATA-3, R-REG-4), and the data-subject-request clock
(R-DATA-7)."""
