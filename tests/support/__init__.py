"""What the tests share: servers, clients, store readers, prerequisites."""
