namespace StarKv.GpuWorker.Sessions;

/// <summary>The answer of one agent step: the model's raw text and the step's figures.</summary>
public sealed record StepOutcome(int StepIndex, string Text, int ScreenshotWidth, int ScreenshotHeight, int ResizedWidth, int ResizedHeight, StepFigures Figures);
