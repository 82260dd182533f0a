using StarKv.Grains.Storage;

namespace StarKv.Grains.Tests.Storage;

public sealed class StorageNamesTests
{
    [Theory]
    [InlineData("trajectory", "trajectory")]
    [InlineData("tenant-a/session_1", "tenant-a~2Fsession_1")]
    [InlineData("..", "~2E~2E")]
    [InlineData("a~b", "a~7Eb")]
    [InlineData("é", "~C3~A9")]
    [InlineData("", "~")]
    public void Segments_are_escaped_by_hand_computed_rules(string identifier, string expected)
    {
        Assert.Equal(expected, StorageNames.EscapeSegment(identifier));
        Assert.True(StorageNames.IsSafeSegment(expected));
    }

    [Fact]
    public void Long_identifiers_are_cut_and_stay_distinct()
    {
        var a = StorageNames.EscapeSegment(new string('x', 500) + "a");
        var b = StorageNames.EscapeSegment(new string('x', 500) + "b");

        Assert.Equal(StorageNames.MaxSegmentLength, a.Length);
        Assert.NotEqual(a, b);
        Assert.True(StorageNames.IsSafeSegment(a));
    }

    [Theory]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("")]
    [InlineData("a.b")]
    public void Unsafe_segments_are_recognised(string segment) => Assert.False(StorageNames.IsSafeSegment(segment));

    [Theory]
    [InlineData("starkv-checkpoints", null)]
    [InlineData("ab", "3 to 63")]
    [InlineData("Upper", "position 0 holds 'U'")]
    [InlineData("a--b", "position 2 holds '-'")]
    [InlineData("-ab", "position 0 holds '-'")]
    [InlineData("", "empty")]
    public void Container_names_are_checked(string name, string? problem)
    {
        var found = StorageNames.ContainerNameProblem(name);

        if (problem is null)
        {
            Assert.Null(found);
        }
        else
        {
            Assert.Contains(problem, found, StringComparison.Ordinal);
        }
    }
}
