import Placement

/// The cluster's configuration, held by the engine of the metadata group: the same shard driver runs that
/// group and the queue shards, so its replicas apply `initializeCluster` and `changeCluster` in log order
/// and hold the same `ClusterMetadata`.
extension QueueEngine {
    /// Takes `metadata` when the engine holds no configuration yet; a later one is ignored (the first in
    /// the log wins, so a second node bootstrapping the same cluster changes nothing).
    mutating func initializeCluster(_ metadata: ClusterMetadata) {
        guard clusterMetadata == nil else { return }
        clusterMetadata = metadata
    }

    /// Applies `command` to the configuration. Throws, changing nothing, when there is none yet
    /// (ServiceUnavailable: the metadata group has not applied its `initializeCluster`) or when the
    /// configuration refuses the change (InvalidParameterValue, with the reason).
    mutating func changeCluster(_ command: MetadataCommand) throws(QueueError) {
        guard clusterMetadata != nil else {
            throw QueueError(
                .serviceUnavailable, "The cluster configuration is not initialized yet. Retry the request.")
        }
        do {
            // `apply` changes nothing when it throws.
            try clusterMetadata!.apply(command)
        } catch {
            throw QueueError(.invalidParameterValue, error.description)
        }
    }
}
