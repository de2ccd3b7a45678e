"""Starting the assistant's processes: servers, the cluster, the demo web server."""
