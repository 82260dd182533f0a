using Grpc.Core;
using StarKv.Gateway.Tenants;
using StarKv.Telemetry;
using StarKv.Gateway.Validation;
using StarKv.Grains.Admin;
using StarKv.Grains.Errors;
using StarKv.Grains.Placement;
using StarKv.Grains.Sessions;
using StarKv.Grains.Tenants;
using StarKv.Protos.V1;

namespace StarKv.Gateway.Services;

/// <summary>
/// The public gRPC service: every call is already authenticated (<see cref="TenantAuthenticationInterceptor"/>); inputs
/// are validated here, then routed to the trajectory grain keyed <c>tenant/session</c>. Errors are domain exceptions,
/// mapped to status codes by <see cref="Errors.DomainErrorInterceptor"/>.
/// </summary>
public sealed class AgentGatewayService(IGrainFactory grains, StepInputValidator validator, ClusterAdmin admin, TimeProvider clock) : AgentGateway.AgentGatewayBase
{
    public override async Task<SessionInfo> CreateSession(CreateSessionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var tenant = TenantAuthenticationInterceptor.TenantOf(context);
        var key = KeyOf(tenant.Id, request.SessionId);
        var config = ProtoMapping.ToConfig(request);
        config.Validate();

        var choice = await grains.GetGrain<ISiloLoadRegistryGrain>(0).ChooseSiloAsync(config.ModelId, excludeSilo: null).ConfigureAwait(false);
        if (choice.Silo is null)
        {
            throw StarKvException.ResourceExhausted($"No silo can take a new session: {choice.Reason}.");
        }

        var ledger = grains.GetGrain<ITenantLedgerGrain>(tenant.Id);
        await ledger.ReserveSessionAsync(key.Session, tenant.MaxSessions).ConfigureAwait(false);
        RequestContext.Set(Grains.Placement.ModelContext.Key, config.ModelId);
        try
        {
            var snapshot = await Trajectory(key).CreateAsync(config).ConfigureAwait(false);
            return ProtoMapping.ToInfo(snapshot);
        }
        catch (StarKvException error) when (error.Kind != StarKvErrorKind.AlreadyExists)
        {
            await ledger.ReleaseSessionAsync(key.Session).ConfigureAwait(false);
            throw;
        }
        finally
        {
            RequestContext.Remove(Grains.Placement.ModelContext.Key);
        }
    }

    public override async Task<StepResult> Step(StepRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        return await StepAsync(request, TenantAuthenticationInterceptor.TenantOf(context)).ConfigureAwait(false);
    }

    public override async Task Run(IAsyncStreamReader<StepRequest> requestStream, IServerStreamWriter<StepResult> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(responseStream);
        var tenant = TenantAuthenticationInterceptor.TenantOf(context);
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
        {
            var result = await StepAsync(request, tenant).ConfigureAwait(false);
            await responseStream.WriteAsync(result, context.CancellationToken).ConfigureAwait(false);
        }
    }

    public override async Task<SessionInfo> GetSession(GetSessionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var key = KeyOf(TenantAuthenticationInterceptor.TenantOf(context).Id, request.SessionId);
        return ProtoMapping.ToInfo(await Trajectory(key).GetAsync().ConfigureAwait(false));
    }

    public override async Task<CloseSessionResponse> CloseSession(CloseSessionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var tenant = TenantAuthenticationInterceptor.TenantOf(context);
        var key = KeyOf(tenant.Id, request.SessionId);
        var steps = await Trajectory(key).CloseAsync().ConfigureAwait(false);
        await grains.GetGrain<ITenantLedgerGrain>(tenant.Id).ReleaseSessionAsync(key.Session).ConfigureAwait(false);
        return new CloseSessionResponse { StepsTaken = steps };
    }

    public override async Task<ListSilosResponse> ListSilos(ListSilosRequest request, ServerCallContext context)
    {
        RequireAdmin(context);
        var now = clock.GetUtcNow().UtcDateTime;
        var response = new ListSilosResponse();
        response.Silos.AddRange((await admin.ListSilosAsync().ConfigureAwait(false)).OrderBy(r => r.Silo, StringComparer.Ordinal).Select(r => ProtoMapping.ToSiloLoad(r, now)));
        return response;
    }

    public override async Task<MigrateSessionResponse> MigrateSession(MigrateSessionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var caller = RequireAdmin(context);
        var key = KeyOf(string.IsNullOrEmpty(request.Tenant) ? caller.Id : request.Tenant, request.SessionId);
        var ticket = await admin.MigrateSessionAsync(key, request.TargetSilo).ConfigureAwait(false);
        return new MigrateSessionResponse { FromSilo = ticket.FromSilo, ToSilo = ticket.ToSilo };
    }

    public override async Task<DrainSiloResponse> DrainSilo(DrainSiloRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        RequireAdmin(context);
        if (request.TimeoutSeconds < 0)
        {
            throw StarKvException.InvalidArgument($"timeout_seconds must be 0 or more; it is {request.TimeoutSeconds}.");
        }

        var timeout = TimeSpan.FromSeconds(request.TimeoutSeconds == 0 ? 60 : request.TimeoutSeconds);
        var outcome = await admin.DrainSiloAsync(request.Silo, timeout, context.CancellationToken).ConfigureAwait(false);
        return new DrainSiloResponse { MovedSessions = outcome.MovedSessions, RemainingSessions = outcome.RemainingSessions };
    }

    private async Task<StepResult> StepAsync(StepRequest request, Configuration.TenantOptions tenant)
    {
        var key = KeyOf(tenant.Id, request.SessionId);
        var started = clock.GetTimestamp();
        validator.Validate(request.StepIndex, request.Screenshot.Span, request.Instruction);
        using var span = StarKvTelemetry.StartStep(new StepTrace(tenant.Id, key.Session, request.StepIndex))
            ?.SetTag(StarKvAttributes.ScreenshotBytes, request.Screenshot.Length);

        var usage = await grains.GetGrain<ITenantLedgerGrain>(tenant.Id).GetUsageAsync().ConfigureAwait(false);
        if (usage.KvBytes >= tenant.MaxKvBytes)
        {
            throw StarKvException.ResourceExhausted(
                $"Tenant '{tenant.Id}' holds {usage.KvBytes} KV bytes across {usage.Sessions} sessions, at its quota (MaxKvBytes = {tenant.MaxKvBytes}); close a session first.");
        }

        var record = await Trajectory(key).StepAsync(new StepInput
        {
            StepIndex = request.StepIndex,
            Screenshot = request.Screenshot.ToByteArray(),
            Instruction = request.Instruction,
        }).ConfigureAwait(false);
        span?.SetTag(StarKvAttributes.Silo, record.Figures.Silo).SetTag(StarKvAttributes.Replayed, record.Replayed);
        StarKvTelemetry.RecordStepLatency(tenant.Id, clock.GetElapsedTime(started));
        return ProtoMapping.ToResult(key.Session, record);
    }

    private ITrajectoryGrain Trajectory(SessionKey key) => grains.GetGrain<ITrajectoryGrain>(key.ToString());

    private static SessionKey KeyOf(string tenant, string sessionId)
    {
        try
        {
            return new SessionKey(tenant, sessionId);
        }
        catch (ArgumentException error)
        {
            throw StarKvException.InvalidArgument($"session_id is invalid: {error.Message}");
        }
    }

    private static Configuration.TenantOptions RequireAdmin(ServerCallContext context)
    {
        var tenant = TenantAuthenticationInterceptor.TenantOf(context);
        return tenant.Admin
            ? tenant
            : throw new StarKvException(StarKvErrorKind.PermissionDenied, $"Tenant '{tenant.Id}' may not call admin operations (StarKv:Tenants entry has Admin = false).");
    }
}
