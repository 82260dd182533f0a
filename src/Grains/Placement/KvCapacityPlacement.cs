using Orleans.Placement;

namespace StarKv.Grains.Placement;

/// <summary>Places a new activation on the compatible silo serving its model with the most free KV memory.</summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class KvCapacityPlacementStrategy : PlacementStrategy
{
    public static KvCapacityPlacementStrategy Singleton { get; } = new();
}

/// <summary>Marks a grain class for <see cref="KvCapacityPlacementStrategy"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class KvCapacityPlacementAttribute : PlacementAttribute
{
    public KvCapacityPlacementAttribute()
        : base(KvCapacityPlacementStrategy.Singleton)
    {
    }
}
