def ok(event:, context:)
  { 'ok' => true, 'event' => event, 'function' => context.function_name, 'request' => context.aws_request_id,
    'remaining' => context.get_remaining_time_in_millis.positive? }
end

def boom(event:, context:)
  raise ArgumentError, 'bad input'
end

module Shop
  class Orders
    def self.handle(event:, context:)
      { 'class' => name }
    end
  end
end
