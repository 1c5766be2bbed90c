"""The command side: eventsourcing Applications, one per bounded context."""
