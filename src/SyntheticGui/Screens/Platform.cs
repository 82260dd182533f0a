namespace StarKv.SyntheticGui.Screens;

/// <summary>The kind of device a screen imitates; it fixes the screenshot size and the layout.</summary>
public enum Platform
{
    Desktop,
    Mobile,
    Web,
}

/// <summary>Light or dark appearance.</summary>
public enum Theme
{
    Light,
    Dark,
}

/// <summary>Screenshot sizes per platform: multiples of 28 pixels, so the model sees them unresized.</summary>
public static class PlatformSizes
{
    /// <summary>Width and height in pixels: desktop 336×224 (96 vision tokens), mobile 196×336 (84), web 308×252 (99).</summary>
    public static (int Width, int Height) Of(Platform platform) => platform switch
    {
        Platform.Desktop => (336, 224),
        Platform.Mobile => (196, 336),
        Platform.Web => (308, 252),
        _ => throw new ArgumentOutOfRangeException(nameof(platform), platform, "Unknown platform."),
    };
}
