using System.Globalization;
using Microsoft.Extensions.Options;
using StarKv.Gateway.Configuration;
using StarKv.Grains.Errors;

namespace StarKv.Gateway.Validation;

/// <summary>Checks a step's inputs at the edge, before any grain is called; each refusal names the field and the limit.</summary>
public sealed class StepInputValidator(IOptionsMonitor<GatewayOptions> options)
{
    /// <summary>Largest width or height accepted (pixels).</summary>
    public const int MaxSide = 16384;

    public ScreenshotHeader Validate(long stepIndex, ReadOnlySpan<byte> screenshot, string instruction)
    {
        var limits = options.CurrentValue;
        if (stepIndex < 0)
        {
            throw StarKvException.InvalidArgument($"step_index must be 0 or more; it is {stepIndex}.");
        }

        if (screenshot.IsEmpty)
        {
            throw StarKvException.InvalidArgument("screenshot is empty (0 bytes); send PNG or JPEG bytes.");
        }

        if (screenshot.Length > limits.MaxImageBytes)
        {
            throw StarKvException.InvalidArgument($"screenshot has {screenshot.Length} bytes; the limit (StarKv:Gateway:MaxImageBytes) is {limits.MaxImageBytes}.");
        }

        ScreenshotHeader header;
        try
        {
            header = ScreenshotHeader.Read(screenshot);
        }
        catch (FormatException error)
        {
            throw StarKvException.InvalidArgument($"screenshot {error.Message}.");
        }

        if (header.Width <= 0 || header.Height <= 0)
        {
            throw StarKvException.InvalidArgument($"screenshot is {header.Width}×{header.Height} pixels; both sides must be at least 1.");
        }

        if (header.Width > MaxSide || header.Height > MaxSide)
        {
            throw StarKvException.InvalidArgument($"screenshot is {header.Width}×{header.Height} pixels; neither side may exceed {MaxSide}.");
        }

        // From the header, before anything is decoded: a few hundred compressed bytes can declare gigabytes of pixels.
        var pixels = (long)header.Width * header.Height;
        if (pixels > limits.MaxImagePixels)
        {
            throw StarKvException.InvalidArgument(string.Create(CultureInfo.InvariantCulture,
                $"screenshot is {header.Width}×{header.Height} = {pixels:N0} pixels; the limit (StarKv:Gateway:MaxImagePixels) is {limits.MaxImagePixels:N0}."));
        }

        if (string.IsNullOrWhiteSpace(instruction))
        {
            throw StarKvException.InvalidArgument("instruction is empty; say what the agent should do.");
        }

        if (instruction.Length > limits.MaxInstructionChars)
        {
            throw StarKvException.InvalidArgument($"instruction has {instruction.Length} characters; the limit (StarKv:Gateway:MaxInstructionChars) is {limits.MaxInstructionChars}.");
        }

        return header;
    }
}
